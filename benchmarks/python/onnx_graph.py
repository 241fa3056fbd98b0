"""compare-pytorch.sh helpers. 'flops MODEL': GFLOP per image of a 1-image run (2 x multiply-accumulates of every Conv,
Gemm and MatMul, from the graph with inferred shapes; QDQ/float16 graphs count the same ops). 'gemm DIR N': writes
gemm-fp32.onnx (MatMul of two N x N float32 inputs) and gemm-int8.onnx (MatMulInteger u8 x s8 -> int32)."""
import sys
import numpy as np
import onnx
from onnx import helper, shape_inference, TensorProto


def flops(path):
    m = onnx.load(path)
    inp = m.graph.input[0]
    inp.type.tensor_type.shape.dim[0].ClearField('dim_param'); inp.type.tensor_type.shape.dim[0].dim_value = 1
    m = shape_inference.infer_shapes(m)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in list(m.graph.value_info) + list(m.graph.output) + list(m.graph.input)}
    inits = {i.name: list(i.dims) for i in m.graph.initializer}
    # weights reached through DequantizeLinear/Cast keep the initializer's shape
    for n in m.graph.node:
        if n.op_type in ('DequantizeLinear', 'Cast') and n.input[0] in inits: inits[n.output[0]] = inits[n.input[0]]
    macs = 0
    for n in m.graph.node:
        if n.op_type in ('Conv', 'QLinearConv', 'ConvInteger'):
            w = inits[n.input[3 if n.op_type == 'QLinearConv' else 1]]
            out = shapes[n.output[0]]
            macs += int(np.prod(out)) * int(np.prod(w[1:]))
        elif n.op_type in ('Gemm', 'MatMul'):
            a, out = shapes.get(n.input[0]) or inits[n.input[0]], shapes[n.output[0]]
            macs += int(np.prod(out)) * a[-1]
    return 2 * macs / 1e9


def gemm(folder, n):
    for name, ta, tb, tc, op in [('gemm-fp32', TensorProto.FLOAT, TensorProto.FLOAT, TensorProto.FLOAT, 'MatMul'),
                                 ('gemm-int8', TensorProto.UINT8, TensorProto.INT8, TensorProto.INT32, 'MatMulInteger')]:
        g = helper.make_graph([helper.make_node(op, ['a', 'b'], ['c'])], name,
                              [helper.make_tensor_value_info('a', ta, [n, n]), helper.make_tensor_value_info('b', tb, [n, n])],
                              [helper.make_tensor_value_info('c', tc, [n, n])])
        model = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]); model.ir_version = 8
        onnx.checker.check_model(model)
        onnx.save(model, f'{folder}/{name}.onnx')


if sys.argv[1] == 'flops': print(f'{flops(sys.argv[2]):.3f}')
else: gemm(sys.argv[2], int(sys.argv[3]))
