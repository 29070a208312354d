"""Literal helpers of the expander (cimgen/expand/values.py): distances from the data."""

from __future__ import annotations

import math

import pytest

from cimgen.expand.values import EARTH_M_PER_DEG, neighbour_distance, nice_distance


def _grid(step_m: float, n: int, lat: float = 45.46) -> list[tuple[float, float]]:
    """``n`` x ``n`` points ``step_m`` metres apart near Milan (lon, lat)."""
    dx = step_m / (EARTH_M_PER_DEG * math.cos(math.radians(lat)))
    dy = step_m / EARTH_M_PER_DEG
    return [(9.19 + i * dx, lat + j * dy) for i in range(n) for j in range(n)]


def test_neighbour_distance_measures_the_kth_nearest_in_metres() -> None:
    points = _grid(100.0, 10)
    assert neighbour_distance(points, 1, 1.0) == pytest.approx(100.0, rel=0.01)
    # the 4 nearest of an inner point are 100 m away, the 5th is a diagonal (141 m)
    assert neighbour_distance(points, 5, 1.0) == pytest.approx(141.4, rel=0.02)


def test_neighbour_distance_as_dense_as_the_whole_table() -> None:
    """Sampled rows that stand for 4 rows each lie twice as close in the table."""
    points = _grid(100.0, 10)
    assert neighbour_distance(points, 1, 4.0) == pytest.approx(50.0, rel=0.01)


def test_neighbour_distance_needs_more_points_than_k() -> None:
    assert neighbour_distance(_grid(100.0, 1), 1, 1.0) is None
    assert neighbour_distance(_grid(100.0, 2), 4, 1.0) is None


def test_neighbour_distance_of_many_points_is_measured_to_all_of_them() -> None:
    """Of 1,600 points every 4th is asked, but its neighbours are all 1,600: the answer
    is the whole set's spacing, not that of the points asked (here a 40 x 10 grid)."""
    assert neighbour_distance(_grid(50.0, 40), 1, 1.0) == pytest.approx(50.0, rel=0.01)


def test_nice_distance_rounds_on_a_log_scale() -> None:
    assert nice_distance(90.0) == 100.0
    assert nice_distance(40.0) == 50.0
    assert nice_distance(3.0) == 25.0
    assert nice_distance(1e6) == 5000.0
