"""Retargeting: an animation of the head model carried onto a head mesh of another topology.

``similarity`` (similarity transforms, Umeyama, multi-start trimmed ICP), ``surface`` (closest
points and surface samples), ``nricp`` (non-rigid ICP), ``align`` (the template placed and
fitted on the user's mesh, with the face check), ``transfer`` (correspondence and motion
transfer), ``mesh_io`` (the user's mesh and landmarks in, OBJ frames out). Arrays in, arrays
out; the head model's arrays come from the caller (``pipelines.retarget_files``).
"""
