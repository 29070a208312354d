"""The grammar stage: parse SQL into the AST, bind it to a schema, validate queries.

* :func:`parse` -- text to :class:`cimgen.ast.Query`, or :class:`QuerySyntaxError`;
* :func:`syntax_findings` -- the same as data: ``(ast | None, [SYN001 finding])``;
* :func:`bind` -- check an AST against a schema and the function catalogue (BND findings);
* :func:`split_statements` -- cut a .sql file into statements with their start lines.
"""

from cimgen.grammar.bind import bind
from cimgen.grammar.parse import QuerySyntaxError, parse, split_statements, syntax_findings

__all__ = ["QuerySyntaxError", "bind", "parse", "split_statements", "syntax_findings"]
