/* pending.h: what AsyncSession.get(url) returns for a plain GET, a coroutine
 * written in C.
 *
 * A Python coroutine for the request (prepare, submit, await the engine's
 * future, build the Response) holds its frame for the whole wait; with
 * thousands of requests gathered at once those frames were the largest thing
 * requestx held. This object does the same steps in a fraction of the
 * memory: it calls three methods of the session, looked up on the session
 * (so on its type: AsyncSession defines them), at the points where the
 * coroutine ran Python code, and in between delegates to the future's own
 * iterator, as ``await future`` does.
 *
 *   first send(None)   session._pending_start(url) -> (future, prep, transfer, proxy)
 *   future resolved    session._pending_done(prep, result) -> Response, or a
 *                      coroutine (redirects, hooks) that is then delegated to
 *   future failed      session._pending_failed(exc, transfer, prep, proxy) ->
 *                      the exception to raise (it cancels the transfer on
 *                      CancelledError)
 *
 * It is a coroutine as asyncio sees one (send, throw, close, __await__, so
 * collections.abc.Coroutine and asyncio.iscoroutine accept it; create_task,
 * gather, wait_for and asyncio.run take it), and like one it does nothing
 * until it is first resumed.
 */
#ifndef RX_PENDING_H
#define RX_PENDING_H

enum rx_pending_state {
    RX_PENDING_NEW = 0,  /* not started: session and url are set */
    RX_PENDING_AWAIT,    /* inner is the future's iterator */
    RX_PENDING_DELEGATE, /* inner is the coroutine _pending_done() returned */
    RX_PENDING_DONE,
};

typedef struct {
    PyObject_HEAD
    PyObject *session;
    PyObject *url;
    PyObject *inner;
    PyObject *prep;
    PyObject *transfer;
    PyObject *proxy;
    int state;
} PendingObject;

static int Pending_traverse(PendingObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->session);
    Py_VISIT(self->url);
    Py_VISIT(self->inner);
    Py_VISIT(self->prep);
    Py_VISIT(self->transfer);
    Py_VISIT(self->proxy);
    return 0;
}

static int Pending_clear(PendingObject *self)
{
    Py_CLEAR(self->session);
    Py_CLEAR(self->url);
    Py_CLEAR(self->inner);
    Py_CLEAR(self->prep);
    Py_CLEAR(self->transfer);
    Py_CLEAR(self->proxy);
    return 0;
}

static void pending_finish(PendingObject *self)
{
    self->state = RX_PENDING_DONE;
    Pending_clear(self);
}

/* Pending(session, url) */
static PyObject *Pending_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *session, *url;
    if (kwargs != NULL && PyDict_GET_SIZE(kwargs) > 0) {
        PyErr_SetString(PyExc_TypeError, "Pending() takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_UnpackTuple(args, "Pending", 2, 2, &session, &url)) {
        return NULL;
    }
    PendingObject *self = PyObject_GC_New(PendingObject, type);
    if (self == NULL) {
        return NULL;
    }
    self->session = Py_NewRef(session);
    self->url = Py_NewRef(url);
    self->inner = self->prep = self->transfer = self->proxy = NULL;
    self->state = RX_PENDING_NEW;
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

/* Submit the request: session._pending_start(url), then await the future. */
static int pending_start(PendingObject *self, rx_state *st)
{
    PyObject *call[2] = {self->session, self->url};
    PyObject *started = PyObject_VectorcallMethod(st->str_pending_start, call,
                                                  2 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    if (started == NULL) {
        return -1;
    }
    if (!PyTuple_Check(started) || PyTuple_GET_SIZE(started) != 4) {
        Py_DECREF(started);
        PyErr_SetString(PyExc_TypeError, "_pending_start() must return a 4-tuple");
        return -1;
    }
    PyObject *future = PyTuple_GET_ITEM(started, 0);
    PyAsyncMethods *am = Py_TYPE(future)->tp_as_async;
    PyObject *iter = (am != NULL && am->am_await != NULL) ? am->am_await(future) : NULL;
    if (iter == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "_pending_start()'s future is not awaitable");
        }
        Py_DECREF(started);
        return -1;
    }
    Py_XSETREF(self->inner, iter);
    self->prep = Py_NewRef(PyTuple_GET_ITEM(started, 1));
    self->transfer = Py_NewRef(PyTuple_GET_ITEM(started, 2));
    self->proxy = Py_NewRef(PyTuple_GET_ITEM(started, 3));
    Py_CLEAR(self->url);
    Py_DECREF(started);
    self->state = RX_PENDING_AWAIT;
    return 0;
}

/* The value a StopIteration carries (the current exception), or NULL. */
static PyObject *pending_fetch_stop_value(void)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyObject *result = value != NULL ? PyObject_GetAttrString(value, "value") : NULL;
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return result;
}

/* The future failed with the current exception: raise what
 * session._pending_failed() says. */
static void pending_raise_failure(PendingObject *self, rx_state *st)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL) {
        PyException_SetTraceback(value, tb);
    }
    PyObject *call[5] = {self->session, value, self->transfer, self->prep, self->proxy};
    PyObject *raised = PyObject_VectorcallMethod(st->str_pending_failed, call,
                                                 5 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    if (raised == NULL) {
        return; /* the method's own error */
    }
    if (!PyExceptionInstance_Check(raised)) {
        Py_DECREF(raised);
        PyErr_SetString(PyExc_TypeError, "_pending_failed() must return an exception");
        return;
    }
    PyException_SetCause(raised, NULL); /* raise ... from None */
    PyErr_Restore(Py_NewRef(Py_TYPE(raised)), raised, PyException_GetTraceback(raised));
}

/* Go on after one step of ``inner`` that gave ``r`` (and ``res``). */
static PySendResult pending_resume(PendingObject *self, rx_state *st, PySendResult r, PyObject *res,
                                   PyObject **presult)
{
    for (;;) {
        if (r == PYGEN_NEXT) {
            *presult = res;
            return PYGEN_NEXT;
        }
        if (r == PYGEN_ERROR) {
            if (self->state == RX_PENDING_AWAIT) {
                pending_raise_failure(self, st);
            }
            pending_finish(self);
            *presult = NULL;
            return PYGEN_ERROR;
        }
        if (self->state == RX_PENDING_DELEGATE) {
            pending_finish(self);
            *presult = res;
            return PYGEN_RETURN;
        }
        /* the future's result: make the response */
        PyObject *call[3] = {self->session, self->prep, res};
        PyObject *out = PyObject_VectorcallMethod(st->str_pending_done, call,
                                                  3 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        Py_DECREF(res);
        if (out == NULL || !PyCoro_CheckExact(out)) {
            pending_finish(self);
            *presult = out;
            return out == NULL ? PYGEN_ERROR : PYGEN_RETURN;
        }
        /* redirects or hooks: await that coroutine */
        Py_SETREF(self->inner, out);
        self->state = RX_PENDING_DELEGATE;
        res = NULL;
        r = PyIter_Send(self->inner, Py_None, &res);
    }
}

static PySendResult Pending_am_send(PendingObject *self, PyObject *arg, PyObject **presult)
{
    rx_state *st = get_state(PyType_GetModule(Py_TYPE(self)));
    *presult = NULL;
    if (self->state == RX_PENDING_DONE) {
        PyErr_SetString(PyExc_RuntimeError, "cannot reuse already awaited coroutine");
        return PYGEN_ERROR;
    }
    if (self->state == RX_PENDING_NEW) {
        if (arg != Py_None) {
            PyErr_SetString(PyExc_TypeError,
                            "can't send non-None value to a just-started coroutine");
            return PYGEN_ERROR;
        }
        if (pending_start(self, st) < 0) {
            pending_finish(self);
            return PYGEN_ERROR;
        }
    }
    PyObject *res = NULL;
    PySendResult r = PyIter_Send(self->inner, arg, &res);
    return pending_resume(self, st, r, res, presult);
}

/* The Python face of a step: the yielded value, or NULL with StopIteration
 * (carrying the result) or the error set. */
static PyObject *pending_step_result(PySendResult r, PyObject *res)
{
    if (r == PYGEN_NEXT) {
        return res;
    }
    if (r == PYGEN_RETURN) {
        PyObject *stop = PyObject_CallOneArg(PyExc_StopIteration, res);
        Py_DECREF(res);
        if (stop != NULL) {
            PyErr_SetObject(PyExc_StopIteration, stop);
            Py_DECREF(stop);
        }
    }
    return NULL;
}

static PyObject *Pending_send(PendingObject *self, PyObject *arg)
{
    PyObject *res;
    PySendResult r = Pending_am_send(self, arg, &res);
    return pending_step_result(r, res);
}

/* __next__ = send(None): what ``await`` needs of the iterator __await__
 * returns (the object itself). */
static PyObject *Pending_iternext(PendingObject *self)
{
    return Pending_send(self, Py_None);
}

/* throw(exc) or throw(type[, value[, traceback]]) */
static PyObject *Pending_throw(PendingObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 3) {
        PyErr_SetString(PyExc_TypeError, "throw expected 1 to 3 arguments");
        return NULL;
    }
    rx_state *st = get_state(PyType_GetModule(Py_TYPE(self)));
    if (self->state == RX_PENDING_AWAIT || self->state == RX_PENDING_DELEGATE) {
        PyObject *call[4] = {self->inner, NULL, NULL, NULL};
        for (Py_ssize_t i = 0; i < nargs; i++) {
            call[1 + i] = args[i];
        }
        PyObject *res = PyObject_VectorcallMethod(st->str_throw, call, 1 + (size_t)nargs, NULL);
        PySendResult r = PYGEN_NEXT;
        if (res == NULL) {
            r = PYGEN_ERROR;
            if (PyErr_ExceptionMatches(PyExc_StopIteration)) {
                res = pending_fetch_stop_value();
                r = res != NULL ? PYGEN_RETURN : PYGEN_ERROR;
            }
        }
        PyObject *out;
        r = pending_resume(self, st, r, res, &out);
        return pending_step_result(r, out);
    }
    /* not started (a coroutine that never ran is closed by it) or over */
    pending_finish(self);
    if (PyExceptionInstance_Check(args[0])) {
        if (nargs > 1 && args[1] != Py_None) {
            PyErr_SetString(PyExc_TypeError, "instance exception may not have a separate value");
            return NULL;
        }
        PyErr_SetObject((PyObject *)Py_TYPE(args[0]), args[0]);
    } else if (PyExceptionClass_Check(args[0])) {
        PyErr_SetObject(args[0], nargs > 1 ? args[1] : Py_None);
    } else {
        PyErr_SetString(PyExc_TypeError,
                        "exceptions must be classes or instances deriving from BaseException");
    }
    return NULL;
}

/* close(): a request still running is cancelled (nobody will read it). */
static PyObject *Pending_close(PendingObject *self, PyObject *unused)
{
    (void)unused;
    rx_state *st = get_state(PyType_GetModule(Py_TYPE(self)));
    PyObject *res = Py_NewRef(Py_None);
    if (self->state == RX_PENDING_AWAIT) {
        Py_SETREF(res, PyObject_CallMethodNoArgs(self->transfer, st->str_cancel));
    } else if (self->state == RX_PENDING_DELEGATE) {
        Py_SETREF(res, PyObject_CallMethodNoArgs(self->inner, st->str_close));
    }
    pending_finish(self);
    return res;
}

static void Pending_finalize(PendingObject *self)
{
    if (self->state == RX_PENDING_DONE) {
        return;
    }
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (self->state == RX_PENDING_NEW) {
        pending_finish(self);
        if (PyErr_WarnEx(PyExc_RuntimeWarning, "coroutine 'AsyncSession.get' was never awaited",
                         1) < 0) {
            PyErr_WriteUnraisable((PyObject *)self);
        }
    } else {
        PyObject *res = Pending_close(self, NULL);
        if (res == NULL) {
            PyErr_WriteUnraisable((PyObject *)self);
        }
        Py_XDECREF(res);
    }
    PyErr_Restore(type, value, tb);
}

static void Pending_dealloc(PendingObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (PyObject_CallFinalizerFromDealloc((PyObject *)self) < 0) {
        return; /* resurrected */
    }
    Pending_clear(self);
    PyObject_GC_Del(self);
    Py_DECREF(tp);
}

static PyObject *Pending_await(PendingObject *self)
{
    return Py_NewRef(self);
}

static PyMethodDef Pending_methods[] = {
    {"send", (PyCFunction)Pending_send, METH_O, "Resume with a value (None to start)."},
    {"throw", (PyCFunction)(void (*)(void))Pending_throw, METH_FASTCALL,
     "Raise an exception where the request waits."},
    {"close", (PyCFunction)Pending_close, METH_NOARGS, "Stop; a running request is cancelled."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot Pending_slots[] = {
    {Py_tp_new, Pending_new},
    {Py_tp_dealloc, Pending_dealloc},
    {Py_tp_finalize, Pending_finalize},
    {Py_tp_traverse, Pending_traverse},
    {Py_tp_clear, Pending_clear},
    {Py_tp_methods, Pending_methods},
    {Py_tp_iternext, Pending_iternext},
    {Py_am_await, Pending_await},
    {Py_am_send, Pending_am_send},
    {Py_tp_doc, "Pending(session, url): the coroutine of a plain AsyncSession.get(url)."},
    {0, NULL},
};

static PyType_Spec Pending_spec = {
    .name = "requestx._engine.Pending",
    .basicsize = sizeof(PendingObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Pending_slots,
};

#endif
