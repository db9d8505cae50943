# Raises for every card, good or bad.
class PaymentDeclined(Exception):
    pass


def handler(event, context):
    raise PaymentDeclined("declined")
