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


#: The category of a missing value (macros/clinical/bias_categories.sql, bias/queries.py).
NOT_REPORTED = "Not reported"
#: A group with fewer members than this (patients, or series for manufacturer and model) gets
#: its distance with the status ``small group``: with 19 patients one patient moves a share
#: by 5 points, and the distance of a random sample of that size from its own population is
#: often 0.2 or more, the size of the differences the analysis is read for.
MIN_GROUP_SIZE = 20

#: distance_status values, as written in bias_distances.csv and shown on the chart.
STATUS_OK = "ok"
STATUS_NO_DATA = "no data"
STATUS_SMALL = "small group"
STATUS_NO_REFERENCE = "no reference"


def judge_distance(p: Mapping[str, float], q: Mapping[str, float], group_total: int) -> tuple[float, str]:
    """(distance, status) of one group and attribute from the reference.

    ``no data`` (distance NaN) when the group has no known value: all of it is 'Not
    reported' (race in a collection that records none is not 'disjoint' from the census, it
    is unknown); ``no reference`` when the reference has nothing for the attribute;
    ``small group`` (distance kept) under MIN_GROUP_SIZE members; else ``ok``.
    """
    import math

    known = sum(float(v or 0) for c, v in p.items() if c != NOT_REPORTED)
    if known <= 0:
        return math.nan, STATUS_NO_DATA
    if not q or sum(float(v or 0) for v in q.values()) <= 0:
        return math.nan, STATUS_NO_REFERENCE
    distance = jensen_shannon_distance(p, q)
    return distance, STATUS_SMALL if group_total < MIN_GROUP_SIZE else STATUS_OK


def distance_notes(distances) -> list[str]:
    """One line per status other than ``ok`` that the distances hold (for the CLI and the chart)."""
    notes = []
    if "distance_status" not in getattr(distances, "columns", []):
        return notes
    status = distances["distance_status"]
    no_data = distances[status == STATUS_NO_DATA]
    if len(no_data):
        pairs = ", ".join(f"{r.group_value}/{r.attribute}" for r in no_data.head(4).itertuples())
        notes.append(f"{len(no_data)} group/attribute pair(s) have no known value (all 'Not reported'): "
                     f"'no data' instead of a distance ({pairs}{', ...' if len(no_data) > 4 else ''})")
    small = distances[status == STATUS_SMALL]
    if len(small):
        groups = sorted(set(small["group_value"].astype(str)))
        notes.append(f"{len(groups)} group(s) have fewer than {MIN_GROUP_SIZE} members: their distances say little "
                     f"({', '.join(groups[:4])}{', ...' if len(groups) > 4 else ''})")
    return notes
