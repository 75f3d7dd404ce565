"""A narrow compatibility shim for upsetplot 0.9.0 under pandas 3 and NumPy 2.4.

upsetplot 0.9.0 (the latest release) breaks in two places on this project's stack:

* pandas 3 always copies on write, so ``styles["facecolor"].fillna(..., inplace=True)`` in
  ``UpSet.plot_matrix`` fills a temporary copy: the matrix dots keep NaN colours and
  matplotlib raises ``ValueError: Invalid RGBA argument: nan`` (jnothman/UpSetPlot#276, #303;
  the fix, PR #304, is unreleased).
* NumPy 2.4 no longer turns a one-element array into a float: ``UpSet._label_sizes`` places
  each count label at ``value + 0.01 * abs(np.diff(ax.get_xlim()))``, a 1-element array, and
  matplotlib fails when it draws the text (jnothman/UpSetPlot#301).

Instead of pinning pandas < 3 for the whole project, :class:`CompatUpSet` subclasses
``upsetplot.UpSet`` and changes only what those two methods hand to matplotlib: the matrix
scatter gets its NaN styles filled exactly as upsetplot meant to (linewidth 1, facecolor the
plot's colour, edgecolor the facecolor, linestyle solid) and label positions become plain
floats. Everything else is upsetplot's own code. :func:`upset_class` returns the subclass
only for the upsetplot versions known to need it; tests/reports/test_upset.py checks that the
plain class still fails (so the shim is still needed) and that the shim draws correctly.
"""

from __future__ import annotations

from typing import Any

#: upsetplot releases with the two defects (0.9.0 is the latest on PyPI as of 2026-11).
AFFECTED_VERSIONS = ("0.9.0",)


def _scalar(value: Any) -> Any:
    """A one-element array as a float (NumPy 2.4 refuses the implicit conversion)."""
    import numpy as np

    if isinstance(value, np.ndarray) and value.size == 1:
        return float(value.reshape(-1)[0])
    return value


class _AxesProxy:
    """Forwards everything to the wrapped axes, fixing only the calls named below."""

    def __init__(self, ax: Any, facecolor: Any) -> None:
        self._ax = ax
        self._facecolor = facecolor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ax, name)

    def scatter(self, *args: Any, **kwargs: Any) -> Any:
        # upsetplot's intended fillna chain (plotting.py, plot_matrix), applied to the values
        # it passes here as pandas Series.
        def fill(key: str, default: Any) -> None:
            column = kwargs.get(key)
            if column is not None and hasattr(column, "where"):
                kwargs[key] = column.where(column.notna(), default)

        fill("linewidths", 1.0)
        fill("facecolors", self._facecolor)
        if kwargs.get("facecolors") is not None:
            fill("edgecolors", kwargs["facecolors"])
        fill("linestyles", "solid")
        for key in ("facecolors", "edgecolors", "linestyles"):
            if hasattr(kwargs.get(key), "tolist"):
                kwargs[key] = kwargs[key].tolist()
        if hasattr(kwargs.get("linewidths"), "to_numpy"):
            kwargs["linewidths"] = kwargs["linewidths"].to_numpy(dtype=float)
        return self._ax.scatter(*args, **kwargs)

    def text(self, x: Any, y: Any, *args: Any, **kwargs: Any) -> Any:
        return self._ax.text(_scalar(x), _scalar(y), *args, **kwargs)


def _compat_class():
    from upsetplot import UpSet

    class CompatUpSet(UpSet):
        """``upsetplot.UpSet`` that draws under pandas 3 and NumPy 2.4 (see the module docstring)."""

        def plot_matrix(self, ax):  # upsetplot's signature
            import warnings

            with warnings.catch_warnings():
                # the inplace fillna calls this shim replaces warn under pandas 3; they are no-ops
                warnings.simplefilter("ignore", Warning)
                return super().plot_matrix(_AxesProxy(ax, self._facecolor))

        def _label_sizes(self, ax, rects, where):
            return super()._label_sizes(_AxesProxy(ax, self._facecolor), rects, where)

    return CompatUpSet


def needs_shim(version: str | None = None) -> bool:
    import upsetplot

    return (version or upsetplot.__version__) in AFFECTED_VERSIONS


def upset_class():
    """The UpSet class to use: the shim for affected upsetplot versions, upsetplot's own otherwise."""
    if needs_shim():
        return _compat_class()
    from upsetplot import UpSet

    return UpSet
