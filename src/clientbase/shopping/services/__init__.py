"""The shopping operations the storefront, the /me API and the back office
call: `carts` (find, change, price, merge) and `orders` (checkout, history).
Import from the submodules."""
