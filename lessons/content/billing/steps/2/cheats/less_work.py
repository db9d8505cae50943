import hashlib


# Cuts the work to a tenth so it is fast at any memory size.
def handler(event, context):
    digest = b"coldstart"
    for _ in range(event.get("rounds", 120000) // 10):
        digest = hashlib.sha256(digest).digest()
    return {"digest": digest.hex()[:16]}
