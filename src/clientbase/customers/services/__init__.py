"""The operations on customers that the API, the admin, the storefront and the
CLI all call. Import from the submodules."""
