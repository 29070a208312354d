"""cimgen: a grammar-first multiplier of spatial text-to-SQL training data (CIM Wizard, PostGIS)."""

__version__ = "0.1.0"
