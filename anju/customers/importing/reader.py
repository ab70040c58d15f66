"""The entry point of the reading process of a large import (see `pipeline.ReadingProcess`).

Kept apart from `pipeline` so that a spawned child can import it before Django is set up."""


def reading_process_main(out_queue, kwargs: dict) -> None:
    """Puts prepared chunks on `out_queue`, then None; on failure a str describing it."""
    import traceback

    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
    from .pipeline import prepared_chunks

    try:
        for chunk in prepared_chunks(**kwargs):
            out_queue.put(chunk)
    except BaseException as exc:  # reported to the writer, which raises it
        out_queue.put(f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"[:2000])
        return
    out_queue.put(None)
