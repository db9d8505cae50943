import numpy


def handler(event, context):
    return {"det": None}
