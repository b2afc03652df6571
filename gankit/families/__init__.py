"""Model families, one module each; `registry` lists them and binds the config functions to them."""
