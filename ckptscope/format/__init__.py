"""Formatters: Report -> text. They only format; every number comes from the Report."""
