"""`explain` a decision from what is on tape, and `answer` an inquiry with it.

`explain` asks `services.quick_explain` first: a decision the store holds is explained there
without loading the config file in full, building the services or starting an event loop.
Anything it leaves (None) is explained as before, through the services."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from thirdbook.cli.common import given_paths, run_async, with_services
from thirdbook.domain.explain_render import as_json, as_markdown, as_text
from thirdbook.domain.text import visible
from thirdbook.services.quick_explain import quick_explain

# The services (and the models) are imported where they are used: a decision explained
# quickly needs neither.
if TYPE_CHECKING:
    from thirdbook.domain.explanation import Explanation
    from thirdbook.services.explain import Answer
    from thirdbook.services.factory import Services


@click.command()
@click.argument("request_id", required=False)
@click.option("--subject", help="The newest decision about this subject.")
@click.option("--inquiry", "inquiry_id", help="The decision this inquiry asks about.")
@click.option("--json", "as_json_out", is_flag=True, help="As JSON.")
@click.option("--markdown", is_flag=True, help="As Markdown.")
@click.pass_context
def explain(
    ctx: click.Context,
    request_id: str | None,
    subject: str | None,
    inquiry_id: str | None,
    as_json_out: bool,
    markdown: bool,
) -> None:
    """Explain one decision: model version (and the registry's weights hash), the full
    prompt, the response and the downstream action, each present or MISSING; the route and
    why; what names or cites it; the snapshots that hold it. A decision the store does not
    hold yet is looked for in the bytes not yet ingested, and explained from its line,
    marked "from the log, not yet ingested"."""
    given = [x for x in (request_id, subject, inquiry_id) if x]
    if len(given) != 1:
        raise click.UsageError("give exactly one of REQUEST_ID, --subject or --inquiry")
    data_dir, config, demo = given_paths(ctx)
    found = quick_explain(
        data_dir,
        config,
        demo=demo,
        request_id=request_id,
        subject=subject,
        inquiry_id=inquiry_id,
    )
    if found is None:
        found = _through_services(ctx, request_id, subject, inquiry_id)
    if as_json_out:
        click.echo(as_json(found))
    elif markdown:
        click.echo(as_markdown(found), nl=False)
    else:
        click.echo(as_text(found))


def _through_services(
    ctx: click.Context, request_id: str | None, subject: str | None, inquiry_id: str | None
) -> Explanation:
    """The explanation from the services: the store, else the bytes not yet ingested (or,
    with no store yet, the configured sources' files); exit 1 saying what was searched."""
    from thirdbook.cli.lookup import log_only
    from thirdbook.services.explain import UnknownDecisionError
    from thirdbook.services.explain_log import explain_with_log

    async def work(svc: Services) -> Explanation:
        # The store, and (when it does not hold the decision) what is not ingested yet.
        return await explain_with_log(
            svc.explain, svc.unread, request_id=request_id, subject=subject, inquiry_id=inquiry_id
        )

    try:
        from_log = log_only(ctx) if inquiry_id is None else None
        if from_log is not None:
            return run_async(
                lambda _stop: explain_with_log(
                    None, from_log, request_id=request_id, subject=subject
                )
            )
        return with_services(ctx, work, access="auto", inline=True)
    except UnknownDecisionError as exc:
        raise click.ClickException(visible(str(exc))) from exc


@click.command()
@click.argument("inquiry_id")
@click.option("--note", help="A note kept with the answer.")
@click.pass_context
def answer(ctx: click.Context, inquiry_id: str, note: str | None) -> None:
    """Answer an inquiry: keep its decision's explanation as evidence, on the incident's
    timeline and in the audit chain, with who answered and how long after it arrived."""
    from thirdbook.services.explain import UnknownDecisionError

    async def work(svc: Services) -> Answer:
        return await svc.explain.answer(inquiry_id, note)

    try:
        done = with_services(ctx, work)
    except UnknownDecisionError as exc:
        raise click.ClickException(visible(str(exc))) from exc
    click.echo(visible(done.sentence()))


def register_explain_commands(main: click.Group) -> None:
    """Add `explain` and `answer`."""
    main.add_command(explain)
    main.add_command(answer)
