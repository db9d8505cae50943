def handler(event, context):
    return {'batchItemFailures': [{'itemIdentifier': 'm-2'}]}
