"""`thirdbook explain` read quickly: over the store's inline reads (`store.inline`), run to
its end in this thread, with the settings a quick read remembers
(`services.quick_settings`): no `Context`, `Services`, event loop or aiosqlite.

A decision by request id or subject is explained first without pydantic
(`services.plain_explain`); where that is unsure, and for an inquiry, by `ExplainService`
itself on the same reads. Either way the explanation is the services' own, for a decision
the store holds. Anything else gives None and the caller asks the services: a config file
not yet validated, a store that needs `Store.open` (a migration to run, read-only), and a
decision or inquiry the store does not hold (the services then search the bytes not yet
ingested, or say what was searched).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from thirdbook import locations
from thirdbook.services.plain_explain import PlainExplain, Unsure
from thirdbook.services.quick_settings import QuickSettings, quick_store
from thirdbook.store.inline import InlineStore, WouldWaitError, run_inline

if TYPE_CHECKING:
    from thirdbook.domain import explanation, plain_explanation


def quick_explain(
    data_dir: Path | None,
    config: Path | None,
    *,
    demo: bool,
    request_id: str | None = None,
    subject: str | None = None,
    inquiry_id: str | None = None,
) -> explanation.Explanation | plain_explanation.Explanation | None:
    """The explanation of a decision by request id, subject (its newest) or inquiry, or
    None (see the module)."""
    opened = quick_store(data_dir, config, demo=demo)
    if opened is None:
        return None
    reads, settings = opened
    store = InlineStore(reads)
    # The registry file as `Context.containment` gives it: the demo's own with `--demo`.
    registry = (
        locations.demo_registry_file(locations.data_dir(data_dir)) if demo else settings.registry
    )
    try:
        if inquiry_id is None:
            plain = PlainExplain(reads, store, registry, follow=settings.follow_control_symlinks)
            # None: not in the store, which only the services' path can say more of.
            with contextlib.suppress(Unsure):
                return run_inline(plain.explain(request_id=request_id, subject=subject))
        return _with_models(store, settings, registry, request_id, subject, inquiry_id)
    except WouldWaitError:
        return None
    finally:
        run_inline(store.close())


def _with_models(
    store: InlineStore,
    settings: QuickSettings,
    registry: Path | None,
    request_id: str | None,
    subject: str | None,
    inquiry_id: str | None,
) -> explanation.Explanation | None:
    """`ExplainService`'s explanation on the inline store; None where it knows none."""
    from thirdbook.evidence.objects import ObjectStore
    from thirdbook.services.decisions import DecisionLookup
    from thirdbook.services.explain import ExplainService, UnknownDecisionError
    from thirdbook.services.registry import RegistryService

    explain = ExplainService(
        store,
        DecisionLookup(store),
        ObjectStore(locations.evidence_dir(store.path)),
        None,
        RegistryService(store, registry, follow=settings.follow_control_symlinks, read_only=True),
    )
    try:
        return run_inline(
            explain.explain(request_id=request_id, subject=subject, inquiry_id=inquiry_id)
        )
    except UnknownDecisionError:
        return None
