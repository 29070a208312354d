"""Geography in SpatiaLite: PostGIS measures ``geography`` in metres on the WGS 84
spheroid; SpatiaLite has no geography type. Areas, lengths and perimeters pass the
``use_ellipsoid`` flag (exact). Distances and buffers need a metric frame, and
``ST_Transform`` is the obvious one -- but SpatiaLite caches a single PROJ transformation,
so a forward plus an inverse transform in every row rebuilds it twice per row (0.7 ms a
row: a 3,300-row table takes 2.3 s). Instead the geometry is scaled into a local frame at
its own latitude where both axes have the same length per unit (``ScaleCoords``), which
needs no PROJ at all: measured within 1e-4 of PostGIS (docs/backends.md).
"""

from __future__ import annotations

from typing import ClassVar

from cimgen import ast
from cimgen.render.backend import BackendRenderer
from cimgen.render.base import P_ATOM, Text, Unsupported
from cimgen.scope import Scope

GEOGRAPHY_SRID = 4326  # PostGIS geography is lon/lat on WGS 84
QUAD_SEGS = 8  # PostGIS's default segments per quarter circle of a buffer (SpatiaLite: 30)


class SpatialiteGeography(BackendRenderer):
    """The SpatiaLite renderer's geography handlers (see the module docstring)."""

    special: ClassVar[dict[str, str]] = {
        **dict.fromkeys(("ST_Area", "ST_Length", "ST_Perimeter", "ST_Distance"), "_measure"),
        "ST_DWithin": "_st_dwithin",
        "ST_Buffer": "_st_buffer",
        "ST_DistanceSphere": "_st_distancesphere",
    }

    def _spheroid_flag(
        self, node: ast.FuncCall, n_geoms: int, flag_at: int, scope: Scope | None
    ) -> str | None:
        """SpatiaLite's use_ellipsoid argument: PostGIS's own use_spheroid flag (argument
        ``flag_at``) if given, 1 when a geometry argument is a geography, None (planar)
        otherwise."""
        if len(node.args) > flag_at:
            return self.text(node.args[flag_at], scope)
        if any(self.is_geography(a, scope) for a in node.args[:n_geoms]):
            return "1"
        return None

    def _measure(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        if node.name == "ST_Distance":
            return self._distance(node, 2, scope), P_ATOM
        inner = node.args[0] if len(node.args) == 1 else None
        if (
            node.name == "ST_Area"
            and isinstance(inner, ast.FuncCall)
            and inner.name == "ST_Buffer"
            and len(inner.args) >= 2
            and self.is_geography(inner.args[0], scope)
            and node.over is None
        ):
            return self._buffer_area(inner, scope), P_ATOM
        args = [self.text(a, scope) for a in node.args[:1]]
        flag = self._spheroid_flag(node, 1, 1, scope)
        if flag is not None:
            args.append(flag)
        return self.call_texts(self.function_name(node), node, args, scope), P_ATOM

    def _distance(self, node: ast.FuncCall, flag_at: int, scope: Scope | None) -> str:
        """The distance between the first two arguments, geodesic for geography.

        SpatiaLite's own ST_Distance(a, b, 1) is exact for two points but picks the closest
        points of a polygon in degree space, where a degree of longitude is 30 % shorter
        than one of latitude at 45 N: measured up to 1.8 % off PostGIS on census polygons.
        So the closest points are found in a local frame where both axes are equally long
        (longitude scaled by the cosine of the latitude, :func:`_lon_scale`), and the
        geodesic length of the line between them is measured on the ellipsoid (measured
        within 7e-5 of the same search in UTM, which is within 1e-4 of PostGIS). No
        ST_Transform: SpatiaLite caches one PROJ transformation, and a forward plus an
        inverse transform per row rebuilt it twice per row (0.7 ms a row). SpatiaLite's
        ST_ShortestLine is wrong for geometries that intersect (a line to the boundary, or
        NULL), hence the explicit 0 for those."""
        first, second = node.args[:2]
        a, b = (self.text(g, scope) for g in (first, second))
        flag = self._spheroid_flag(node, 2, flag_at, scope)
        if flag is None:
            return f"ST_Distance({a}, {b})"
        # the frame's latitude: a constant argument's (SQLite computes it once), else b's
        anchor = a if _is_constant(first) and not _is_constant(second) else b
        k = _lon_scale(anchor)
        line = f"ST_ShortestLine(ScaleCoords({a}, {k}, 1), ScaleCoords({b}, {k}, 1))"
        geodesic = f"ST_Length(ScaleCoords({line}, 1 / {k}, 1), {flag})"
        return f"CASE WHEN ST_Intersects({a}, {b}) THEN 0.0 ELSE {geodesic} END"

    def _st_dwithin(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        # PtDistWithin is only right for points (measured: it reports a polygon 1.2 km away
        # as within 10 m), so compare the distance itself.
        if len(node.args) < 3:
            raise Unsupported("ST_DWithin needs 3 arguments")
        limit = self.sub(node.args[2], scope, self.binary_prec["<="] + 1)
        exact = f"{self._distance(node, 3, scope)} <= {limit}"
        if self._spheroid_flag(node, 2, 3, scope) is None:
            return f"({exact})", P_ATOM  # planar: GEOS's distance is cheap
        # The geodesic distance costs ~50 us a row; a bounding-box test first (the box of
        # the constant side, or of b, widened by the distance) skips it for every row that
        # cannot be within reach -- most rows of a "near this point" filter.
        first, second = node.args[:2]
        a, b = (self.text(g, scope) for g in (first, second))
        near, far = (a, b) if _is_constant(first) and not _is_constant(second) else (b, a)
        d = self.sub(node.args[2], scope, self.binary_prec["/"] + 1)
        return (
            f"(CASE WHEN MbrIntersects({far}, {widened(near, d, True)}) THEN {exact} ELSE 0 END)",
            P_ATOM,
        )

    def _st_buffer(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        args = [self.text(a, scope) for a in node.args]
        if len(args) == 2:
            # PostGIS approximates a quarter circle with 8 segments, SpatiaLite with 30
            # (measured: 0.5 % more area for a point's buffer): say 8.
            args.append(str(QUAD_SEGS))
        if not (node.args and self.is_geography(node.args[0], scope)):
            return self.plain("ST_Buffer", *args)
        # A geography buffer is in metres. PostGIS buffers in a UTM zone and projects back;
        # here the geometry is buffered in a local frame of its own latitude where both
        # axes have the same metres per unit (:func:`_local_frame`): the same polygon to
        # 1e-4 of the area, without the two ST_Transform calls per row that cost SpatiaLite
        # 0.8 ms a row (it caches one PROJ transformation, see _distance).
        g = args[0]
        k, per_degree = _local_frame(g)
        args[0] = f"ScaleCoords({g}, {k}, 1)"
        radius = self.sub(node.args[1], scope, self.binary_prec["/"] + 1)
        args[1] = f"{radius} / {per_degree}"
        return f"ScaleCoords(ST_Buffer({', '.join(args)}), 1 / ({k}), 1)", P_ATOM

    def _buffer_area(self, buffer: ast.FuncCall, scope: Scope | None) -> str:
        """ST_Area(ST_Buffer(g::geography, d)): the buffer's area in its local frame, in
        square metres -- the geodesic area of the buffer polygon to 1e-4 (the frame is
        exact at g's latitude), without unscaling the polygon and measuring it on the
        ellipsoid (140 us a row for a 33-vertex circle)."""
        args = [self.text(a, scope) for a in buffer.args]
        if len(args) == 2:
            args.append(str(QUAD_SEGS))
        k, per_degree = _local_frame(args[0])
        args[0] = f"ScaleCoords({args[0]}, {k} * {per_degree}, {per_degree})"
        return f"ST_Area(ST_Buffer({', '.join(args)}))"

    def _st_distancesphere(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        # use_ellipsoid = 0 is SpatiaLite's great-circle distance in metres.
        return self.plain("ST_Distance", *(self.text(a, scope) for a in node.args[:2]), "0")


def _is_constant(node: object) -> bool:
    """Whether an expression names no column (SQLite evaluates it once per statement)."""
    if isinstance(node, ast.Column | ast.Star | ast.Subquery | ast.Exists | ast.InSubquery):
        return False
    if isinstance(node, ast.FuncCall):
        return all(_is_constant(a) for a in node.args)
    if isinstance(node, ast.Cast):
        return _is_constant(node.expr)
    if isinstance(node, ast.BinaryOp):
        return _is_constant(node.left) and _is_constant(node.right)
    if isinstance(node, ast.UnaryOp):
        return _is_constant(node.operand)
    return isinstance(node, ast.Number | ast.String | ast.Boolean | ast.Null)


def _lon_scale(geom: str) -> str:
    """The factor that makes a degree of longitude as long as one of latitude near
    ``geom``: cos(latitude) -- the sphere's; the ellipsoid's differs by 0.3 %, which moves
    a closest-point search by a second-order amount (measured: below 1e-6 of the distance
    on the fixture's census polygons)."""
    return f"cos(radians(MbrMinY({geom})))"


def _local_frame(geom: str) -> tuple[str, str]:
    """(x scale, metres per unit) of a local frame at ``geom``'s latitude on WGS 84:
    scaling longitude by x scale makes both axes measure ``metres per unit`` metres per
    unit (a degree of latitude). x scale = N cos(lat) / M (prime-vertical over meridian
    radius of curvature) = cos(lat) (1 + e'^2 cos^2(lat)); metres per degree of latitude
    = a (1 - e^2) / (1 - e^2 sin^2(lat))^1.5 * pi / 180."""
    lat = f"radians(MbrMinY({geom}))"
    k = f"cos({lat}) * (1 + 0.00673949674 * power(cos({lat}), 2))"
    per_degree = f"(110574.2727 / power(1 - 0.00669437999 * power(sin({lat}), 2), 1.5))"
    return k, per_degree


def widened(frame: str, distance: str, geography: bool) -> str:
    """``frame`` expanded by ``distance``: in the geometry's units, or for geography (metres)
    by a number of degrees never too small -- a degree of latitude is at least 110 km, one
    of longitude at least 110 km x cos(the highest latitude within reach).
    ``distance`` must bind at least as tightly as ``/``."""
    if geography:
        top = f"max(abs(MbrMinY({frame})), abs(MbrMaxY({frame}))) + {distance} / 110000.0"
        distance = f"{distance} / (110000.0 * cos(radians(min(89.9, {top}))))"
    return f"ST_Expand({frame}, {distance})"
