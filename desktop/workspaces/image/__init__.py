"""Photos, multi-page images and volumes (DICOM, NIfTI): masks painted on a canvas, repaired by method."""

KINDS = ("image", "volume")


def create(context):
    from desktop.workspaces.image.workspace import ImageWorkspace

    return ImageWorkspace(context)
