"""Loopback test servers for the requestx test suite."""
