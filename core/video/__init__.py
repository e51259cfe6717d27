"""Video: documents read in windows of frames, damage finding, frame recovery and writing.

Everything here needs PyAV, an optional extra (`pip install "lacuna-studio[video]"`): its wheels bundle
FFmpeg builds that include GPL code, and no required dependency of Lacuna may be GPL. `backend.av()`
imports it or says how to install it.
"""
