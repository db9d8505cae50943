import hashlib


# Does the work but never ran a sweep: nothing says which memory is cheapest.
def handler(event, context):
    digest = b"coldstart"
    for _ in range(event.get("rounds", 40000)):
        digest = hashlib.sha256(digest).digest()
    return {"digest": digest.hex()[:16]}
