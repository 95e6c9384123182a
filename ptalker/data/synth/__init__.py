"""A synthetic speech-to-motion corpus made on this machine (docs/architecture.md, "Speech synthesis").

espeak-ng speaks generated English sentences in each speaker's voice and reports when every
phoneme starts; phonemes become viseme targets on the stand-in head, blended with
coarticulation in the speaker's style; the FLAME head turns the parameters into vertices.
"""
