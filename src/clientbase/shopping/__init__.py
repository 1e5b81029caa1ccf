"""Shopping: carts, checkout and orders. Prices come from pricing's resolver."""
