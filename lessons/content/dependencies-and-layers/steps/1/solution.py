import numpy


def handler(event, context):
    return {"det": float(numpy.linalg.det(numpy.array(event["matrix"], dtype=float)))}
