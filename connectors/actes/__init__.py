"""@ctes: build, package, check and transmit acts to the prefecture."""
