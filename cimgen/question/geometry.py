"""Reader layer 3: geometry phrases, units and spatial predicates."""

from __future__ import annotations

from cimgen import ast
from cimgen.question.base import (
    FLIP,
    GENERIC_GEOMS,
    GEOGRAPHIC_SRIDS,
    INVERSE,
    Scope,
    Source,
    join_words,
    the,
    verb_s,
    with_unit,
)
from cimgen.question.expressions import ExprReader
from cimgen.question.vocabulary import humanise


class GeometryReader(ExprReader):
    # ------------------------------------------------------------------ geometry phrases

    def units(self, e: ast.Expr, scope: Scope) -> str:
        """``m`` when ``e`` is measured in metres, ``degrees`` in lon/lat, ``""`` if unknown."""
        while True:
            if isinstance(e, ast.Cast):
                if e.type_name == "geography":
                    return "m"
                e = e.expr
            elif isinstance(e, ast.FuncCall) and e.args:
                if (
                    e.name in ("ST_Transform", "ST_SetSRID")
                    and len(e.args) > 1
                    and isinstance(e.args[1], ast.Number)
                ):
                    srid = int(float(e.args[1].text))
                    return self._srid_unit(srid)
                e = e.args[0]
            elif isinstance(e, ast.Column):
                t, _, _ = self.term(e, scope)
                return self._srid_unit(t.srid) if t.srid else ""
            else:
                return ""

    def _srid_unit(self, srid: int | None) -> str:
        if srid in self.metric or (
            srid is not None and (32601 <= srid <= 32760 or 25828 <= srid <= 25838)
        ):
            return "m"
        return "degrees" if srid in GEOGRAPHIC_SRIDS else ""

    def geom(self, e: ast.Expr, scope: Scope) -> str:
        """A geometry as an object: ``the building footprint``, ``the point (9.19, 45.47)``."""
        if isinstance(e, ast.Cast):
            return self.geom(e.expr, scope)
        if isinstance(e, ast.Column):
            t, src, depth = self.term(e, scope)
            noun = t.noun.removesuffix(" geometry").removesuffix(" data")
            if src is None:
                return the(noun)
            own = depth == 0 and src.attached
            label = f"the {src.words.singular}" if own else src.label
            if t.kind == "raster" or noun in GENERIC_GEOMS or noun == src.words.singular:
                return label
            if noun.startswith(src.words.singular) or own:
                return the(noun)
            return f"the {noun} of {src.label}"
        if isinstance(e, ast.FuncCall):
            return the(self.spatial_func(e, scope))
        return self.expr(e, scope)

    def spatial_func(self, f: ast.FuncCall, scope: Scope) -> str:
        name, args = f.name, f.args
        if name in ("ST_Transform", "ST_Force2D", "ST_Multi", "ST_MakeValid") and args:
            inner = self.geom(args[0], scope)
            if name == "ST_Transform" and len(args) > 1 and self.units(f, scope) != "m":
                return f"{inner} reprojected to SRID {self.expr(args[1], scope)}"
            return inner
        if name == "ST_SetSRID" and len(args) == 2:
            return f"{self.geom(args[0], scope)} with SRID {self.expr(args[1], scope)}"
        if name in ("ST_MakePoint", "ST_Point") and len(args) >= 2:
            return f"point ({self.expr(args[0], scope)}, {self.expr(args[1], scope)})"
        if name == "ST_MakeEnvelope" and len(args) >= 4:
            a = [self.expr(x, scope) for x in args]
            srid = f" in SRID {a[4]}" if len(a) > 4 else ""
            return f"box from ({a[0]}, {a[1]}) to ({a[2]}, {a[3]}){srid}"
        if name == "ST_GeomFromText" and args:
            srid = f" in SRID {self.expr(args[1], scope)}" if len(args) > 1 else ""
            return f"geometry {self.expr(args[0], scope)}{srid}"
        if name == "ST_Buffer" and len(args) >= 2:
            d = with_unit(self.expr(args[1], scope), self._dist_unit(args[0], scope))
            return f"{d} buffer around {self.geom(args[0], scope)}"
        if name in ("ST_Area", "ST_Length", "ST_Perimeter") and args:
            unit = self.units(args[0], scope)
            suffix = (
                (" in square metres" if name == "ST_Area" else " in metres") if unit == "m" else ""
            )
            return f"{self._of(self._phrase(name), args[0], scope)}{suffix}"
        if (
            name in ("ST_Distance", "ST_MaxDistance", "ST_HausdorffDistance", "ST_DistanceSphere")
            and len(args) >= 2
        ):
            unit = (
                " in metres"
                if self._dist_unit(args[0], scope) == "m" or name == "ST_DistanceSphere"
                else ""
            )
            return (
                f"{self._phrase(name)} between {self.geom(args[0], scope)} and "
                f"{self.geom(args[1], scope)}{unit}"
            )
        if name == "ST_Value" and len(args) >= 2:
            return f"{self.geom(args[0], scope)} value at {self.geom(args[-1], scope)}"
        if name == "ST_Clip" and len(args) >= 2:
            geom = next(
                (a for a in args[1:] if not isinstance(a, ast.Number | ast.Boolean)), args[1]
            )
            return f"{self.geom(args[0], scope)} clipped to {self.geom(geom, scope)}"
        if name in ("ST_ClusterDBSCAN", "ST_ClusterKMeans"):
            return "cluster id"
        if name in ("ST_Union", "ST_Collect") and len(args) == 1:
            return f"merged {self.geom(args[0], scope).removeprefix('the ')}"
        phrase = self._phrase(name)
        if not args:
            return phrase
        fn = self.cat.get(name)
        if (
            len(args) == 1
            and self._geomish(args[0])
            and fn is not None
            and fn.category in ("measurements", "accessors", "raster")
        ):
            return self._of(phrase, args[0], scope)
        objs = [self.geom(a, scope) if self._geomish(a) else self.expr(a, scope) for a in args]
        if len(objs) == 1:
            return f"{phrase} of {objs[0]}"
        return f"{phrase} of {join_words(objs)}"

    def _of(self, phrase: str, arg: ast.Expr, scope: Scope) -> str:
        """``area`` for the subject's main geometry, else ``area of <geometry>``."""
        col = arg
        if isinstance(col, ast.Cast):
            col = col.expr
        if isinstance(col, ast.FuncCall) and col.name == "ST_Transform" and col.args:
            col = col.args[0]
        if isinstance(col, ast.Column):
            _, src, depth = self.term(col, scope)
            if src is not None and src.attached and depth == 0 and src.key is not None:
                table = self.v.schema.table(src.key)
                geoms = (table.geometry_columns + table.raster_columns) if table else ()
                if not geoms or geoms[0].name == col.name:
                    return phrase
        return f"{phrase} of {self.geom(arg, scope)}"

    def _phrase(self, name: str) -> str:
        fn = self.cat.get(name)
        return fn.phrase if fn and fn.phrase else humanise(name.removeprefix("ST_"))

    def _geomish(self, e: ast.Expr) -> bool:
        return isinstance(e, ast.Column | ast.FuncCall | ast.Cast)

    def _dist_unit(self, e: ast.Expr, scope: Scope) -> str:
        return self.units(e, scope)

    # ------------------------------------------------------------------ conditions

    def is_spatial_pred(self, e: ast.Expr) -> bool:
        if isinstance(e, ast.UnaryOp) and e.op == "NOT":
            return self.is_spatial_pred(e.operand)
        if isinstance(e, ast.FuncCall):
            fn = self.cat.get(e.name)
            return bool(fn and fn.category == "predicates")
        if isinstance(e, ast.BinaryOp) and e.op in FLIP and isinstance(e.left, ast.FuncCall):
            return e.left.name in ("ST_Distance", "ST_DistanceSphere")
        return False

    def _owner(self, e: ast.Expr, scope: Scope, about: Source | None) -> bool:
        """Whether geometry ``e`` is (a column of) the source the clause is about."""
        while isinstance(e, ast.Cast | ast.FuncCall):
            if isinstance(e, ast.Cast):
                e = e.expr
            elif e.name in ("ST_Transform", "ST_SetSRID") and e.args:
                e = e.args[0]
            else:
                return False
        if not isinstance(e, ast.Column):
            return False
        _, src, depth = self.term(e, scope)
        if about is None:
            return src is not None and src.attached and depth == 0
        return src is about

    def spatial_pred(
        self,
        e: ast.Expr,
        scope: Scope,
        about: Source | None = None,
        plain: bool = False,
        negated: bool = False,
    ) -> str:
        if isinstance(e, ast.UnaryOp) and e.op == "NOT":
            return self.spatial_pred(e.operand, scope, about, plain, not negated)
        if isinstance(e, ast.BinaryOp):  # ST_Distance(a, b) < d
            f = e.left
            assert isinstance(f, ast.FuncCall)
            d = with_unit(self.expr(e.right, scope), self._dist_unit(f.args[0], scope))
            word = {
                "<": "less than",
                "<=": "at most",
                ">": "more than",
                ">=": "at least",
                "=": "exactly",
                "<>": "not exactly",
            }[e.op]
            if negated:
                word = "not " + word
            a, b = f.args[0], f.args[1]
            if not plain and self._owner(b, scope, about):
                a, b = b, a
            if not plain and self._owner(a, scope, about):
                return f"that lie {word} {d} from {self.geom(b, scope)}"
            return (
                f"{self.geom(a, scope)} lies {word} {d} from {self.geom(b, scope)}"
                if plain
                else f"where {self.geom(a, scope)} lies {word} {d} from {self.geom(b, scope)}"
            )
        assert isinstance(e, ast.FuncCall)
        name, args = e.name, e.args
        if len(args) == 1:
            what = {"ST_IsValid": "valid", "ST_IsEmpty": "empty"}.get(name, self._phrase(name))
            what = ("not " if negated else "") + what
            return (
                f"{self.geom(args[0], scope)} is {what}"
                if plain or not self._owner(args[0], scope, about)
                else f"with a {what} geometry"
            )
        a, b = args[0], args[1]
        extra = ""
        phrase = self._phrase(name)
        if name == "ST_DWithin" and len(args) >= 3:
            d = with_unit(self.expr(args[2], scope), self._dist_unit(a, scope))
            phrase, extra = "lie within", f"{d} of "
        if not plain and not self._owner(a, scope, about) and self._owner(b, scope, about):
            a, b = b, a
            inv = INVERSE.get(name)
            if inv:
                phrase = self._phrase(inv)
        if not plain and self._owner(a, scope, about):
            verb = (
                phrase
                if not negated
                else ("are not " + phrase[4:] if phrase.startswith("are ") else "do not " + phrase)
            )
            return f"that {verb} {extra}{self.geom(b, scope)}"
        verb = verb_s(phrase)
        if negated:
            verb = "does not " + phrase if not phrase.startswith("are ") else "is not " + phrase[4:]
        text = f"{self.geom(a, scope)} {verb} {extra}{self.geom(b, scope)}"
        return text if plain else "where " + text
