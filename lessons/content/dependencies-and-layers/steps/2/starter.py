import numpy


def handler(event, context):
    if event["op"] == "det":
        return {"value": float(numpy.linalg.det(numpy.array(event["matrix"], dtype=float)))}
    return {"value": sum(event["values"])}
