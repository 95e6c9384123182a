"""Whole-face controls beside the lips: head pose, gaze, blinks and emotion.

``procedural`` generates the motion speech does not determine, ``rig`` applies each factor to a
vertex sequence on the head model's mesh, ``factors`` reads them back from a clip, ``spec``
checks what users ask for, ``compose`` puts them on an animation (``apply_controls``),
``voice_emotion`` guesses the emotion from the speech, ``speech_features`` are the per-frame
features of the learned blink model (``ptalker.models.blink_net``).
"""
