/* One 16-byte stub per interrupt vector: pushes a zero error code where the
 * CPU pushes none (all but 8, 10-14, 17, 21, 29, 30), pushes the vector and
 * goes to isr_common, which saves the caller-saved registers, calls
 * isr_dispatch(vector, error_code, rip) and returns with iretq. */
        .text
        .code64
        .balign 16
        .globl isr_stub_start
isr_stub_start:
        .set v, 0
        .rept 256
        .balign 16
        .if !(v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30)
        pushq $0
        .endif
        pushq $v
        jmp isr_common
        .set v, v + 1
        .endr

isr_common:
        push %rax
        push %rcx
        push %rdx
        push %rsi
        push %rdi
        push %r8
        push %r9
        push %r10
        push %r11
        push %rbx
        mov 80(%rsp), %rdi              /* vector */
        mov 88(%rsp), %rsi              /* error code */
        mov 96(%rsp), %rdx              /* RIP */
        mov %rsp, %rbx
        and $-16, %rsp
        call isr_dispatch
        mov %rbx, %rsp
        pop %rbx
        pop %r11
        pop %r10
        pop %r9
        pop %r8
        pop %rdi
        pop %rsi
        pop %rdx
        pop %rcx
        pop %rax
        add $16, %rsp
        iretq

        .section .note.GNU-stack, "", @progbits
