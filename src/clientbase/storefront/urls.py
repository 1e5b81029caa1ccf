"""The shop's URLs, at the site's root."""

from django.urls import path

from clientbase.storefront import account, auth, cart, checkout, invitation, personalization, views

app_name = "storefront"

urlpatterns = [
    path("", views.home, name="home"),
    path("products/", views.product_list, name="product_list"),
    path("products/<str:ident>/", views.product_detail, name="product_detail"),
    path("market/", views.choose_storefront, name="choose_storefront"),
    # staff previewing the shop as a visitor group or a contact
    path("preview/", personalization.start_preview, name="start_preview"),
    path("preview/stop/", personalization.stop_preview, name="stop_preview"),
    # the cart and checkout
    path("cart/", cart.cart_page, name="cart"),
    path("cart/add/", cart.add_to_cart, name="add_to_cart"),
    path("cart/coupon/", cart.enter_coupon, name="enter_coupon"),
    path("cart/lines/<str:sku>/", cart.update_line, name="update_line"),
    path("cart/lines/<str:sku>/remove/", cart.remove_line, name="remove_line"),
    path("checkout/", checkout.checkout, name="checkout"),
    path("checkout/done/<str:number>/", checkout.order_placed, name="order_placed"),
    # logging in and out, registering, passwords
    path("account/register/", auth.register, name="register"),
    path("account/login/", auth.log_in, name="login"),
    path("account/logout/", auth.log_out, name="logout"),
    path("account/verify/again/", auth.resend_verification, name="resend_verification"),
    path("account/verify/<str:token>/", auth.verify_email, name="verify_email"),
    path("account/password/", auth.change_password, name="password_change"),
    path("account/password/reset/", auth.PasswordResetView.as_view(), name="password_reset"),
    path("account/password/reset/sent/", auth.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("account/password/reset/<uidb64>/<token>/", auth.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("account/invitation/<uidb64>/<token>/", invitation.accept_invitation, name="accept_invitation"),
    path("account/password/reset/done/", auth.PasswordResetCompleteView.as_view(),
         name="password_reset_complete"),
    # my account
    path("account/", account.overview, name="account"),
    path("account/profile/", account.profile, name="profile"),
    path("account/addresses/", account.addresses, name="addresses"),
    path("account/addresses/<str:address_id>/", account.edit_address, name="edit_address"),
    path("account/addresses/<str:address_id>/delete/", account.delete_address, name="delete_address"),
    path("account/orders/", account.order_list, name="orders"),
    path("account/orders/<str:number>/", account.order_detail, name="order_detail"),
]
