"""Jensen-Shannon distance as MIDRC's diversity calculator computes it."""

from __future__ import annotations

from typing import Mapping


def jensen_shannon_distance(p: Mapping[str, float], q: Mapping[str, float]) -> float:
    """``scipy.spatial.distance.jensenshannon(p, q, base=2)`` over the union of categories.

    ``p`` and ``q`` map category -> count or share; a category missing on one side counts
    as 0 there (MIDRC's rule). Between 0 (same distribution) and 1 (disjoint). NaN when
    either side is empty.
    """
    import math

    import numpy as np
    from scipy.spatial.distance import jensenshannon

    categories = sorted(set(p) | set(q))
    left = np.array([float(p.get(c, 0.0) or 0.0) for c in categories])
    right = np.array([float(q.get(c, 0.0) or 0.0) for c in categories])
    if not categories or left.sum() <= 0 or right.sum() <= 0:
        return math.nan
    return float(jensenshannon(left, right, base=2))
