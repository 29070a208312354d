"""The schema model: what tables, columns, geometries and relations a database has.

The schema is an input, never hard-coded: :func:`load_schema` accepts a bundled name
(``cim_wizard``), a YAML/JSON schema file, a SQL DDL file or a ``postgresql://`` URL.
"""

from cimgen.schema.load import load_schema
from cimgen.schema.model import Column, Relation, Schema, Table

__all__ = ["Column", "Relation", "Schema", "Table", "load_schema"]
