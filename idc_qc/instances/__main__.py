"""``python -m idc_qc.instances [PAGE.md ...]``: rewrite the generated column table in each
page (docs/instance_contract.md), or print it."""

import sys
from pathlib import Path

from .schema import markdown_table, render_docs

if sys.argv[1:]:
    for arg in sys.argv[1:]:
        page = Path(arg)
        page.write_text(render_docs(page.read_text()))
else:
    print(markdown_table())
