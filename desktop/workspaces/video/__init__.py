"""Videos and image sequences: a player with a timeline of damage, frame stepping, range repairs."""

KINDS = ("video",)


def create(context):
    from desktop.workspaces.video.workspace import VideoWorkspace

    return VideoWorkspace(context)
