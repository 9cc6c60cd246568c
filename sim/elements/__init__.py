"""Element kinds of the frame model, each with its own energy and parameters.

- `kinematics`: finite rotations (Cayley parameters) and the strains of a member;
- `beam`: geometrically exact 3D beams (rings, wires, rods, half pins, bone, struts);
- `link`: stiff links between a part and what holds it (wire-bone, clamps, pin-bone),
  optionally free to slide along and spin about an axis (a smooth wire in the bone);
- `contact`: frictionless contact of the fragment ends across a gap, over the cortical
  section (fibres), so a closing rim and the moment it carries are found.

`sim.frame_model.FrameModel` composes them: each kind's energy is integrated over its own
cells only, with its own per-cell parameter field.
"""
