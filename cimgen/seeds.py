"""One seed derivation: every random stream of a run is named, and derived from the run seed.

A run has one seed (``--seed``). Each purpose that draws random numbers -- fitting the
structure model, sampling a block of structures, expanding structure ``index``, filling a
fixture table, choosing a table's pivot rows -- draws from its own **stream**, named by a
few tags: ``stream(seed, "expand", 17)``. The stream's generator is seeded by numpy's
``SeedSequence`` over the run seed and the tags (text tags hashed with CRC32, stable across
processes unlike ``hash()``), so:

* streams are independent of each other and of the order they are asked for (a worker
  expanding structure 17 needs nothing from the one expanding 16: local and Ray executors
  give the same rows);
* adding a purpose never shifts the numbers another draws;
* nothing touches a global generator, except :func:`cimgen.structure.synthesizers.seeded`,
  which seeds the globals SDV draws from with a derived seed and restores them afterwards.

>>> python_rng(7, "expand", 3).random() == python_rng(7, "expand", 3).random()
True
>>> int_seed(7, "expand", 3) != int_seed(7, "expand", 4) != int_seed(8, "expand", 3)
True
>>> a, b = numpy_rng(0, "fill", "cim_vector.building"), numpy_rng(0, "fill", "cim_vector.building")
>>> bool(a.integers(0, 10**6) == b.integers(0, 10**6))
True

The streams in use (the tags after the seed): ``fit`` (the structure model's fit),
``structures, round, block`` (sampling), ``sample`` and ``shuffle`` (inside one
:meth:`~cimgen.structure.model.StructureModel.sample`), ``expand, index`` (one structure's
expansion, question included), ``pivots, table`` (a fixture world's pivot rows), and the
fixture generators' own tags (:func:`cimgen.fixtures.rng.rng_for`, e.g. ``fill, table``).
"""

from __future__ import annotations

import random
import zlib

import numpy as np

Tag = str | int


def sequence(seed: int, *tags: Tag) -> np.random.SeedSequence:
    """The ``SeedSequence`` of stream ``tags`` of run ``seed``.

    The run seed enters modulo 2**32 (``--seed`` is a 32-bit value); integer tags are used
    as they are (they must be >= 0), text tags by their CRC32.
    """
    words = [int(seed) & 0xFFFFFFFF]
    for t in tags:
        if isinstance(t, int):
            if t < 0:
                raise ValueError(f"stream tag {t} is negative")
            words.append(t)
        else:
            words.append(zlib.crc32(t.encode()))
    return np.random.SeedSequence(words)


def numpy_rng(seed: int, *tags: Tag) -> np.random.Generator:
    """A numpy generator for stream ``tags`` of run ``seed``."""
    return np.random.default_rng(sequence(seed, *tags))


def int_seed(seed: int, *tags: Tag) -> int:
    """A 32-bit integer seed for stream ``tags`` of run ``seed`` (for APIs that take an
    integer: SDV's global generators, ``random.Random``)."""
    return int(sequence(seed, *tags).generate_state(1, np.uint32)[0])


def python_rng(seed: int, *tags: Tag) -> random.Random:
    """A ``random.Random`` for stream ``tags`` of run ``seed`` (seeded with 64 bits)."""
    state = sequence(seed, *tags).generate_state(2, np.uint32)
    return random.Random(int(state[0]) << 32 | int(state[1]))


# --------------------------------------------------------------------------- named streams


def structures_seed(seed: int, round_: int, block: int) -> int:
    """The sampling seed of block ``block`` of generate round ``round_`` (``cimgen
    generate`` and ``cimgen bench`` sample the same structures for the same seed)."""
    return int_seed(seed, "structures", round_, block)


def expansion_rng(seed: int, index: int) -> random.Random:
    """The randomness of structure ``index``'s expansion and question: its own stream, so
    the row does not depend on which worker builds it, or when."""
    return python_rng(seed, "expand", index)
