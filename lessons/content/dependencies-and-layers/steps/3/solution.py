import statistics


def handler(event, context):
    return {"mean": statistics.fmean(event["values"])}
