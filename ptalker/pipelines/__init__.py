"""Running a trained model: checkpoints (:mod:`.checkpoint`), the :class:`~.animator.Animator`
(:func:`~.animator.load_model`), decoding loops (:mod:`.decoding`), streaming (:mod:`.streaming`),
output folders (:mod:`.outputs`, :mod:`.animate_folder`), file-in/file-out commands (:mod:`.files`)
and the demo (:mod:`.demo`)."""
