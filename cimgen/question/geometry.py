"""Reader layer 3: geometry phrases, units and spatial predicates.

A geometry reads as a :class:`Geo`: a core noun (``footprint``, ``centroid``, ``1000 m
buffer``, ``(9.19, 45.47) in SRID 4326``) and whose it is. A table's main geometry (its
first geometry or raster column) goes without saying: ``ST_Area(b.building_geometry)`` is
``area``, ``ST_X(ST_Centroid(g))`` is ``centroid longitude``, ``ST_Area(ST_Buffer(g, 1000))``
is ``1000 m buffer area``. Distances and thresholds carry their unit when the SQL fixes one
(``::geography``, a metric SRID: ``m``; SRID 4326 geometry: ``degrees``).
"""

from __future__ import annotations

from dataclasses import dataclass

from cimgen import ast
from cimgen.question.base import (
    FLIP,
    NEGATE,
    BlockWords,
    Clause,
    Source,
    compound,
    indefinite,
    literal,
    possessive,
    verb_s,
    with_unit,
)
from cimgen.question.expressions import ExprReader
from cimgen.question.vocabulary import humanise
from cimgen.schema.model import GEOGRAPHIC_SRIDS

# predicate -> (after a noun, after a plural subject); the subject is the first argument
_PRED = {
    "ST_Intersects": ("intersecting", "intersect"),
    "ST_Contains": ("containing", "contain"),
    "ST_Within": ("within", "lie within"),
    "ST_Touches": ("touching", "touch"),
    "ST_Crosses": ("crossing", "cross"),
    "ST_Overlaps": ("overlapping", "overlap"),
    "ST_Disjoint": ("disjoint from", "are disjoint from"),
    "ST_Equals": ("equal to", "are equal to"),
    "ST_Covers": ("covering", "cover"),
    "ST_CoveredBy": ("covered by", "are covered by"),
}
INVERSE = {
    "ST_Within": "ST_Contains",
    "ST_Contains": "ST_Within",
    "ST_Covers": "ST_CoveredBy",
    "ST_CoveredBy": "ST_Covers",
}
_TRANSPARENT = {
    "ST_Transform",
    "ST_Force2D",
    "ST_Multi",
    "ST_MakeValid",
    "ST_SnapToGrid",
    "ST_Segmentize",
    "ST_FlipCoordinates",
}
_SHAPES = {  # geometry -> geometry, one argument: the noun of the result
    "ST_Centroid": "centroid",
    "ST_PointOnSurface": "interior point",
    "ST_ConvexHull": "convex hull",
    "ST_Envelope": "bounding box",
    "ST_Boundary": "outline",
    "ST_ExteriorRing": "exterior ring",
    "ST_StartPoint": "start point",
    "ST_EndPoint": "end point",
    "ST_Simplify": "simplified outline",
    "ST_SimplifyPreserveTopology": "simplified outline",
    "ST_Polygon": "footprint polygon",
    "ST_Union": "merged geometry",
    "ST_Collect": "collected geometry",
}
_WITH = {  # geometry, geometry -> geometry: "<noun> <object>"
    "ST_Intersection": "overlap with",
    "ST_Difference": "part outside",
    "ST_SymDifference": "symmetric difference with",
    "ST_Union": "union with",
    "ST_ClosestPoint": "closest point to",
    "ST_ShortestLine": "shortest line to",
}
_NOUNS = {  # measurements and accessors whose catalogue phrase reads long
    "ST_NPoints": "vertex count",
    "ST_NumGeometries": "part count",
    "ST_Dimension": "dimension",
    "ST_NumBands": "band count",
    "ST_DistanceSphere": "distance",
    "ST_MaxDistance": "maximum distance",
    "ST_Azimuth": "bearing",
    # a raster's size is counted in cells: "the 10 tallest DSM tiles" would be of a height
    # in metres (the ordering's superlative is for the rows' own size)
    "ST_Height": "height in pixels",
    "ST_Width": "width in pixels",
}
_DISTANCES = ("ST_Distance", "ST_DistanceSphere", "ST_MaxDistance", "ST_HausdorffDistance")
_AWAY = {  # ST_Distance(a, b) <op> d, for a plural subject a
    "<": "less than {d} from",
    "<=": "within {d} of",
    ">": "more than {d} from",
    ">=": "at least {d} from",
    "=": "exactly {d} from",
    "<>": "not exactly {d} from",
}


@dataclass(frozen=True)
class Geo:
    """A geometry in words (see the module docstring)."""

    core: str
    owner: str = ""  # "" the focus's own, "their", or a table label
    main: bool = False
    constant: bool = False  # a point, box or WKT written in the query
    source: Source | None = None


class GeometryReader(ExprReader):
    # ------------------------------------------------------------------ units

    def units(self, e: ast.Expr, scope: BlockWords) -> str:
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
                    return self._srid_unit(int(float(e.args[1].text)))
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

    def _own_srid(self, srid: str) -> bool:
        """Whether a written SRID is the one the schema's geometry columns have (lon/lat
        4326 for CIM Wizard): people give coordinates without it."""
        return self.v.default_srid is not None and srid == str(self.v.default_srid)

    # ------------------------------------------------------------------ geometry as words

    def geo(self, e: ast.Expr, scope: BlockWords) -> Geo:
        if isinstance(e, ast.Cast):
            return self.geo(e.expr, scope)
        if isinstance(e, ast.Column):
            return self._geo_column(e, scope)
        if not isinstance(e, ast.FuncCall):
            return Geo(self.expr(e, scope))
        name, args = e.name, e.args
        if name in _TRANSPARENT and args:
            return self.geo(args[0], scope)
        if name == "ST_SetSRID" and len(args) == 2:
            inner = self.geo(args[0], scope)
            if inner.constant and inner.core.endswith(")"):
                srid = self.expr(args[1], scope)
                if self._own_srid(srid):
                    return Geo(inner.core, constant=True)
                return Geo(f"{inner.core[:-1]}, SRID {srid})", constant=True)
            return inner
        if name in ("ST_MakePoint", "ST_Point") and len(args) >= 2:
            return Geo(f"({self.expr(args[0], scope)}, {self.expr(args[1], scope)})", constant=True)
        if name == "ST_MakeEnvelope" and len(args) >= 4:
            a = [self.expr(x, scope) for x in args]
            srid = f", SRID {a[4]}" if len(a) > 4 and not self._own_srid(a[4]) else ""
            return Geo(f"the box ({a[0]}, {a[1]}, {a[2]}, {a[3]}{srid})", constant=True)
        if name == "ST_GeomFromText" and args:
            srid = self.expr(args[1], scope) if len(args) > 1 else ""
            srid = f" in SRID {srid}" if srid and not self._own_srid(srid) else ""
            return Geo(f"the geometry {self.expr(args[0], scope)}{srid}", constant=True)
        if name == "ST_Buffer" and len(args) >= 2:
            inner = self.geo(args[0], scope)
            d = with_unit(self.expr(args[1], scope), self.units(args[0], scope))
            core = f"{d} buffer" if inner.main else f"{d} buffer around the {inner.core}"
            return Geo(core, inner.owner, source=inner.source, constant=inner.constant)
        if name in _WITH and len(args) == 2:
            first, other = self.geo(args[0], scope), self.geo(args[1], scope)
            if first.owner and not other.owner and name in ("ST_Intersection", "ST_Union"):
                first, other = other, first
            core = f"{_WITH[name]} {self.obj(other, scope)}"
            if not first.main:
                core = f"{first.core} {core}"
            return Geo(core, first.owner, source=first.source)
        if name in _SHAPES and args:
            inner = self.geo(args[0], scope)
            word = _SHAPES[name]
            if name in ("ST_Union", "ST_Collect") and len(args) == 1:
                word = f"combined {inner.core}"  # the aggregate: all rows' geometries as one
                return Geo(word, inner.owner, source=inner.source)
            core = word if inner.main else compound(inner.core, word)
            if inner.core.startswith("combined "):  # ST_Centroid(ST_Collect(g)): all rows'
                core = f"overall {word}"
            return Geo(core, inner.owner, source=inner.source, constant=inner.constant)
        if name == "ST_Clip" and len(args) >= 2:
            rast = self.geo(args[0], scope)
            target = next(
                a for a in [*args[1:], args[1]] if not isinstance(a, ast.Number | ast.Boolean)
            )
            core = f"raster clipped to {self.obj(self.geo(target, scope), scope)}"
            return Geo(core if rast.main else f"{rast.core} {core}", rast.owner, source=rast.source)
        text, owner = self.spatial(e, scope)
        return Geo(text, owner)

    def _geo_column(self, col: ast.Column, scope: BlockWords) -> Geo:
        t, src, depth = self.term(col, scope)
        if src is not None:
            src.mentioned = True
        owner = self.owner_of(src, depth, scope)
        noun = self.brief(t, src, owner, scope).removesuffix(" data")
        # another table's main geometry read as the subject's own is named: "project
        # boundary geometry type", not "geometry type"
        focus = scope.focus or scope.subject
        named = not owner and src is not None and focus is not None
        main = self._is_main(col, src) and not (
            named and src is not None and focus is not None and src.words != focus.words
        )
        return Geo(noun, owner, main, source=src)

    def _is_main(self, col: ast.Column, src: Source | None) -> bool:
        if src is None:
            return True
        if src.query is not None:
            inner = self.outputs(src.query).get(col.name)
            if isinstance(inner, ast.Column):
                _, sub_scope = self.sub_reading(src.query)
                inner_src, _ = self.resolve(inner, sub_scope)
                return self._is_main(inner, inner_src)
            return True
        main = self.v.main_geometry(src.key or "")
        return main is None or main == col.name

    def _the(self, g: Geo, scope: BlockWords) -> str:
        """A geometry's own part as an object: ``their centre point``, ``the project's
        boundary``."""
        if g.constant:
            return g.core
        if g.owner and g.owner != "their":
            return f"{possessive(g.owner)} {g.core}"
        if g.owner == "their" or self._is_focus(g.source, scope):
            return f"their {g.core}"
        return f"the {g.core}"  # another table read as the subject's own: "the project boundary"

    def _is_focus(self, src: Source | None, scope: BlockWords) -> bool:
        return src is None or src is (scope.focus or scope.subject)

    def obj(self, g: Geo, scope: BlockWords) -> str:
        """A geometry as the object of a relation or a distance: ``them``, ``the census
        zone``, ``their centroid``, ``(9.19, 45.47) in SRID 4326``."""
        if g.constant:
            return g.core
        if not g.main:
            return self._the(g, scope)
        if g.owner == "their" or (not g.owner and self._is_focus(g.source, scope)):
            return "them"
        if g.owner:
            return g.owner
        assert g.source is not None
        return f"the {g.source.words.owner}"

    # ------------------------------------------------------------------ spatial functions

    def spatial(self, f: ast.FuncCall, scope: BlockWords) -> tuple[str, str]:
        name, args = f.name, f.args
        if name in _DISTANCES and len(args) >= 2:
            word = (
                _NOUNS.get(name, "distance")
                if name != "ST_HausdorffDistance"
                else "Hausdorff distance"
            )
            return self.distance(word, args[0], args[1], scope)
        if name == "ST_Azimuth" and len(args) == 2:
            return self.distance("bearing", args[0], args[1], scope)
        if name == "ST_Value" and len(args) >= 2:
            rast = self.geo(args[0], scope)
            at = self.obj(self.geo(args[-1], scope), scope)
            measure = self.v.raster_value(rast.source.key) if rast.source else ""
            if rast.main and measure:  # "surface elevation at (9.19, 45.47)": says whose
                # at the rows themselves it is theirs: "their surface elevation", not
                # "surface elevation at them" (the join says which tiles)
                return (measure if at == "them" else f"{measure} at {at}"), ""
            core = f"value at {at}"
            return (core if rast.main else f"{rast.core} {core}"), rast.owner
        if (
            name in _TRANSPARENT
            or name in _SHAPES
            or name in _WITH
            or name
            in (
                "ST_Buffer",
                "ST_Clip",
                "ST_SetSRID",
                "ST_MakePoint",
                "ST_Point",
                "ST_MakeEnvelope",
                "ST_GeomFromText",
            )
        ):
            g = self.geo(f, scope)
            return (g.core if not g.main else "geometry"), g.owner
        word = _NOUNS.get(name) or self._phrase(name).removeprefix("raster ")
        if len(args) == 1:
            g = self.geo(args[0], scope)
            return (word if g.main else compound(g.core, word)), g.owner
        if not args:
            return word, ""
        objs = [self.obj(self.geo(a, scope), scope) for a in args]
        return f"{word} of {' and '.join(objs)}", ""

    def distance(self, word: str, a: ast.Expr, b: ast.Expr, scope: BlockWords) -> tuple[str, str]:
        ga, gb = self.geo(a, scope), self.geo(b, scope)
        if (ga.constant or ga.owner) and not gb.constant and not gb.owner:
            ga, gb = gb, ga
        if ga.constant:
            return f"{word} between {ga.core} and {self.obj(gb, scope)}", ""
        if ga.main:
            return f"{word} to {self.obj(gb, scope)}", ga.owner
        return f"{ga.core} {word} to {self.obj(gb, scope)}", ga.owner

    def _phrase(self, name: str) -> str:
        fn = self.cat.get(name)
        return fn.phrase if fn and fn.phrase else humanise(name.removeprefix("ST_"))

    # ------------------------------------------------------------------ predicates

    def is_spatial_pred(self, e: ast.Expr) -> bool:
        if isinstance(e, ast.UnaryOp) and e.op == "NOT":
            return self.is_spatial_pred(e.operand)
        if isinstance(e, ast.FuncCall):
            fn = self.cat.get(e.name)
            return bool(fn and fn.category == "predicates")
        if isinstance(e, ast.BinaryOp) and e.op in FLIP:
            left, right = e.left, e.right
            if literal(left) is not None:
                left, right = right, left
            return (
                isinstance(left, ast.FuncCall)
                and left.name in _DISTANCES
                and literal(right) is not None
            )
        return False

    def relation(self, e: ast.Expr, scope: BlockWords, about: Source) -> str:
        """A spatial join condition as a clause about the joined table (the focus):
        ``that contain their centroid``, ``within 500 m of them``."""
        return self.spatial_clause(e, scope).rel

    def spatial_clause(self, e: ast.Expr, scope: BlockWords, negated: bool = False) -> Clause:
        """A spatial predicate about the focus: ``within 500 m of (9.19, 45.47) in SRID
        4326`` / ``lie within ...``; a sentence when the focus is not in it."""
        if isinstance(e, ast.UnaryOp) and e.op == "NOT":
            return self.spatial_clause(e.operand, scope, not negated)
        if isinstance(e, ast.BinaryOp):
            op, f, dist = e.op, e.left, e.right
            if literal(f) is not None:
                op, f, dist = FLIP[op], e.right, e.left
            assert isinstance(f, ast.FuncCall)
            if negated:
                op = NEGATE[op]
            d = with_unit(self.expr(dist, scope), self.units(f.args[0], scope))
            return self._relate(f.args[0], f.args[1], scope, _AWAY[op].format(d=d), None, False)
        assert isinstance(e, ast.FuncCall)
        name, args = e.name, e.args
        if len(args) == 1:
            g = self.geo(args[0], scope)
            what = {"ST_IsValid": "valid", "ST_IsEmpty": "empty"}.get(name, self._phrase(name))
            if negated:
                what = {"valid": "invalid", "empty": "non-empty"}.get(what, "not " + what)
            noun = "geometry" if g.main else g.core
            an = indefinite(what)
            if not g.owner:
                return Clause(f"with {an} {what} {noun}", f"have {an} {what} {noun}", True)
            text = f"{self._the(g, scope) if not g.main else self.obj(g, scope)} is {what}"
            return Clause(f"where {text}", f"are such that {text}", True)
        if name == "ST_DWithin" and len(args) >= 3:
            d = with_unit(self.expr(args[2], scope), self.units(args[0], scope))
            return self._relate(args[0], args[1], scope, f"within {d} of", None, negated)
        return self._relate(args[0], args[1], scope, "", name, negated)

    def _relate(
        self,
        a: ast.Expr,
        b: ast.Expr,
        scope: BlockWords,
        away: str,
        name: str | None,
        negated: bool,
    ) -> Clause:
        ga, gb = self.geo(a, scope), self.geo(b, scope)
        if (ga.owner or ga.constant) and not gb.owner and not gb.constant:
            ga, gb = gb, ga
            name = INVERSE.get(name or "", name)
        if away:
            rel, base = away, f"lie {away}"
        else:
            rel, base = _PRED.get(name or "", (self._phrase(name or ""), self._phrase(name or "")))
        target = self.obj(gb, scope)
        if negated:
            rel = "not " + rel
            base = ("are not " + base[4:]) if base.startswith("are ") else "do not " + base
        if not ga.owner and not ga.constant:
            if ga.main:
                return Clause(f"{rel} {target}", f"{base} {target}", True)
            core = self._owned_core(ga, gb, scope)
            return Clause(
                f"whose {core} {verb_s(base)} {target}",
                f"have {'their' if core != ga.core else indefinite(core)} {core} {rel} {target}",
                True,
            )
        text = f"{self.obj(ga, scope) if ga.main else self._the(ga, scope)} {verb_s(base)} {target}"
        return Clause(f"where {text}", f"are such that {text}", True)

    def _owned_core(self, ga: Geo, gb: Geo, scope: BlockWords) -> str:
        """The related geometry's noun, with its table named where it is a joined table's
        read as the rows' own and the other side is the rows' own geometry or a literal
        place: a project scenario tied to the buildings' properties by its scope, whose
        census boundary contains the building, is "their project scenario's census
        boundary", not "their census boundary" (issue 14, eleventh pass: the owner of a
        joined geometry)."""
        src = ga.source
        if src is None or self._is_focus(src, scope):
            return ga.core
        if not gb.constant and not (gb.main and self._is_focus(gb.source, scope)):
            return ga.core
        owner = src.words.singular
        core = ga.core
        lead = owner.split()[0]  # "project scenario's boundary", not "... project boundary"
        if core.startswith(lead + " ") and core != owner:
            core = core[len(lead) + 1 :]
        return f"{possessive(owner)} {core}"
