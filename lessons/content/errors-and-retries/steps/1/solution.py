class PaymentDeclined(Exception):
    pass


def charge(card, amount):
    if card.startswith("4000"):
        raise PaymentDeclined(f"card ending {card[-4:]} declined for {amount}")
    return "ch_123"


def handler(event, context):
    charge_id = charge(event["card"], event["amount"])
    return {"ok": True, "charge": charge_id}
