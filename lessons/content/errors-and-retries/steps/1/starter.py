def charge(card, amount):
    if card.startswith("4000"):
        raise RuntimeError("card declined")
    return "ch_123"


def handler(event, context):
    try:
        charge_id = charge(event["card"], event["amount"])
    except RuntimeError as exc:
        print("payment failed:", exc)
        return {"ok": False}
    return {"ok": True, "charge": charge_id}
