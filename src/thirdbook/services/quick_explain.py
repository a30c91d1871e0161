"""`thirdbook explain` read quickly: `ExplainService` itself over the store's inline reads
(`store.inline`), run to its end in this thread, with the settings a quick read remembers
(`services.quick_settings`) and no `Context`, `Services`, event loop or aiosqlite.

The explanation is the services' own (the same service, the same queries), for a decision
the store holds. Anything else gives None and the caller asks the services: a config file
not yet validated, a store that needs `Store.open` (a migration to run, read-only), and a
decision or inquiry the store does not hold (the services then search the bytes not yet
ingested, or say what was searched).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from thirdbook import locations
from thirdbook.evidence.objects import ObjectStore
from thirdbook.services.decisions import DecisionLookup
from thirdbook.services.explain import ExplainService, UnknownDecisionError
from thirdbook.services.quick_settings import quick_store
from thirdbook.services.registry import RegistryService
from thirdbook.store.inline import InlineStore, WouldWaitError, run_inline

if TYPE_CHECKING:
    from thirdbook.domain.explanation import Explanation


def quick_explain(
    data_dir: Path | None,
    config: Path | None,
    *,
    demo: bool,
    request_id: str | None = None,
    subject: str | None = None,
    inquiry_id: str | None = None,
) -> Explanation | None:
    """The explanation of a decision by request id, subject (its newest) or inquiry, or
    None (see the module)."""
    opened = quick_store(data_dir, config, demo=demo)
    if opened is None:
        return None
    reads, settings = opened
    store = InlineStore(reads)
    # The registry file as `Context.containment` gives it: the demo's own with `--demo`.
    registry_file = (
        locations.demo_registry_file(locations.data_dir(data_dir)) if demo else settings.registry
    )
    explain = ExplainService(
        store,
        DecisionLookup(store),
        ObjectStore(locations.evidence_dir(reads.path)),
        None,
        RegistryService(
            store, registry_file, follow=settings.follow_control_symlinks, read_only=True
        ),
    )
    try:
        return run_inline(
            explain.explain(request_id=request_id, subject=subject, inquiry_id=inquiry_id)
        )
    except (UnknownDecisionError, WouldWaitError):
        return None
    finally:
        run_inline(store.close())
