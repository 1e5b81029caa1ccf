"""Carts (a shopper's lines, server-side) and orders (what was bought, at
which price and why). Split by concept: carts, orders."""

from clientbase.shopping.models.carts import Cart, CartLine, MergePolicy
from clientbase.shopping.models.orders import Order, OrderLine, OrderNumber, OrderStatus

__all__ = ["Cart", "CartLine", "MergePolicy", "Order", "OrderLine", "OrderNumber", "OrderStatus"]
