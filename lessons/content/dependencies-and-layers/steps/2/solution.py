def handler(event, context):
    if event["op"] == "det":
        import numpy  # only the requests that need it pay for it

        return {"value": float(numpy.linalg.det(numpy.array(event["matrix"], dtype=float)))}
    return {"value": sum(event["values"])}
