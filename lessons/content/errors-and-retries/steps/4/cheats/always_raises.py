# Raises for every order, good or poison.
class InvalidOrder(Exception):
    pass


def handler(event, context):
    raise InvalidOrder("no")
