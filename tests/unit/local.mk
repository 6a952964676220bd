# unit tests are declared in each layer's local.mk
