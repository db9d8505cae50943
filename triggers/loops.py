"""Background loops of the event sources, run by the sandbox worker."""


async def run_forever():
    """Placeholder until the event sources land: nothing to poll."""
    return None
