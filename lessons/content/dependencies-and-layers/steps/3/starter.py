import numpy


def handler(event, context):
    return {"mean": float(numpy.mean(event["values"]))}
