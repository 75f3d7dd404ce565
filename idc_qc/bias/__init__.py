"""Bias analysis of a cohort: who is in it, and how far is that from a reference.

Distributions (counts, shares, missing as the category 'Not reported') come from SQL: the
reporting model ``rpt_bias_distributions`` for the default selection, a parameterized query
(:mod:`.queries`) for others. Python only computes the Jensen-Shannon distance over those
small aggregates (:mod:`.distance`, MIDRC's diversity calculator's formula) and draws them
(:mod:`.charts`).
"""

from .core import ATTRIBUTES, BiasResult, Selection, compute_bias
from .distance import jensen_shannon_distance

__all__ = ["ATTRIBUTES", "BiasResult", "Selection", "compute_bias", "jensen_shannon_distance"]
